"""Files prodshield writes for users: GitHub Actions workflow templates."""
