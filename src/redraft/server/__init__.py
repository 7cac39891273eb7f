"""`redraft serve`: an OpenAI- and Anthropic-compatible proxy that refines answers with a strategy."""
