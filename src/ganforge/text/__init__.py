"""Text for text-to-image: the offline sentence encoder (`encoder`) and caption embeddings cached on disk (`cache`)."""
