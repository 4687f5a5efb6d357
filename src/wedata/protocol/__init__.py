"""Tencent Cloud API 3.0 on the wire: endpoint, signing, envelope, errors, rate limits.

Knows nothing of WeData's domain: actions are looked up in a registry handed in by the app.
"""
