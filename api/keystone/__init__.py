"""Keystone authentication: who sent a request, proven by a token Keystone issued."""
