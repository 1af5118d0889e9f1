// Signals readiness after READY_AFTER ms; answers 'shutdown' by exiting 0.
setTimeout(() => process.send && process.send('ready'), Number(process.env.READY_AFTER || 300));
process.on('message', (m) => {
  if (m === 'shutdown') {
    require('fs').writeFileSync(process.env.SHUTDOWN_FILE, 'got shutdown');
    process.exit(0);
  }
});
process.on('SIGUSR2', () => console.log('got SIGUSR2'));
setInterval(() => {}, 1000);
