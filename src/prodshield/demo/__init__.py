"""The bundled demo: a small platform on loopback that gives every capability something to find."""
