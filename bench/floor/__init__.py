"""A no-op Connexion FlaskApp with the default middleware stack: the framework's own floor."""
