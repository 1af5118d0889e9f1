// What pm2-runtime runs in the container (see the Dockerfile's CMD).
module.exports = {
  apps: [
    {
      name: 'web',
      script: './app.js',
      // pm2 marks the app online when it sends 'ready' (process.send('ready')),
      // or gives up waiting after listen_timeout ms.
      wait_ready: true,
      listen_timeout: 10000,
      // Time the app has to finish its requests on SIGINT before SIGKILL; keep
      // it below the orchestrator's grace period (Kubernetes: 30 s by default).
      kill_timeout: 5000,
      max_memory_restart: '300M',
      env: {
        NODE_ENV: 'production',
      },
    },
  ],
};
