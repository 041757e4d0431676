"""Application services: accepting orders, executing them, recovering lost work."""
