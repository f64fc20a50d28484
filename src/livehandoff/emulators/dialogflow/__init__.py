"""livehandoff."""
