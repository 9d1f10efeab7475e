"""Campaign exports: flat rows (JSONL, CSV, Parquet, a Hugging Face `datasets` folder), a
datasheet for each, and Label Studio's config and task format (export and import)."""
