"""One module per API group; ``@action`` handlers translate wire shapes to service calls and back."""
