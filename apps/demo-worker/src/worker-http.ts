/** What the demo worker's HTTP server (PORT) answers: its probes and its metrics (deploy/k8s probes these). */
export const DEMO_WORKER_PATHS = { live: '/health/live', ready: '/health/ready', metrics: '/metrics' } as const;
