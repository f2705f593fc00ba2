"""The Kafka → Celery bridge. It imports the contracts (`events`) and the helpers (`common`), never Django."""
