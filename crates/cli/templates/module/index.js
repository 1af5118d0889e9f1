// A sample PM2 module. `pm2 install .` runs it (watched: every change of its
// files restarts it); `pm2 set {{name}}:greeting hi` restarts it with the new
// value, which `initModule` hands over merged with package.json's `config`.
const { initModule } = require('./init_module');

initModule({}, (err, conf) => {
  if (err) throw err;
  let ticks = 0;
  console.log(`${conf.module_name} started: greeting=${conf.greeting} interval_ms=${conf.interval_ms}`);
  const timer = setInterval(() => {
    ticks += 1;
    console.log(`${conf.greeting} #${ticks}`);
    // A custom metric, shown by `pm2 describe {{name}}` and `pm2 monit`.
    if (process.send) process.send({ type: 'axm:monitor', data: { Ticks: { value: ticks } } });
  }, Number(conf.interval_ms) || 1000);
  process.on('SIGINT', () => { clearInterval(timer); process.exit(0); });
});
