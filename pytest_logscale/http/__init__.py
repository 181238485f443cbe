"""HTTP: the WSGI app (the request pipeline, its check order) and the server (Werkzeug only)."""
