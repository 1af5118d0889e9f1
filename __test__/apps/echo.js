// A test app: prints a start line, echoes IPC messages back, ticks on stdout.
console.log(`started ${process.env.name} pm_id=${process.env.pm_id} instance=${process.env.NODE_APP_INSTANCE}`);
console.error('stderr line');
process.on('message', (m) => {
  if (process.send) process.send({ type: 'echo:reply', data: m });
});
setInterval(() => console.log('tick'), 200);
