"""Applications built on the didrtc package (``apps.kivy_client``: the offerer app)."""
