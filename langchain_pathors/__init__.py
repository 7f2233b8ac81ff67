"""LangChain integration for Pathors."""
