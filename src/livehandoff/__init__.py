"""Hand a Dialogflow chatbot conversation to a human agent in LiveChat and back."""

__version__ = "0.1.0"
