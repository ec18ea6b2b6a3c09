"""Everything that stands a function up: deployable functions, packaging, AWS and local."""
