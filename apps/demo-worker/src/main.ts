/**
 * The example worker (built on @signoff/worker-sdk by the dispatch issue). Until then it only
 * says so, instead of pretending to process jobs.
 */
process.stderr.write('demo-worker: not implemented yet (see the dispatch-service issue); exiting.\n');
process.exit(1);
