"""Built-in renderers (entry-point group `signoff.renderers`).

A renderer's `normalise` is Qt-free (the comparison engine may call it);
`create_view` imports its Qt widget lazily, so importing a renderer never
pulls in Qt.
"""
