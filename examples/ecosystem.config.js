// pm2 start examples/ecosystem.config.js [--env production] [--only web]
module.exports = {
  apps: [
    {
      name: 'web',
      script: './hello.js',
      cwd: __dirname,
      instances: 2, // cluster mode: both workers share the port
      max_memory_restart: '200M',
      env: { PORT: 3000, NODE_ENV: 'development' },
      env_production: { PORT: 8080, NODE_ENV: 'production' },
    },
    {
      name: 'crasher',
      script: './crash.js',
      cwd: __dirname,
      max_restarts: 5,
      exp_backoff_restart_delay: 100,
      env: { CRASH_AFTER_MS: 2000 },
    },
  ],
};
