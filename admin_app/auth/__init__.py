"""Who may use the admin: passwords, sessions, login throttling, the auth provider."""
