"""The shared core at the bottom of the house: data types, text handling, regions, document
versions, settings, the vector store and the embedding model. It imports nothing from the
question side (:mod:`assistant`), ingestion (:mod:`ingest`), evaluation or the interfaces."""
