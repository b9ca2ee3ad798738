"""Loopback stand-ins that speak outside services' wire formats: GitHub, Slack, the paging
services, the secret providers' identity calls, and small target applications."""
