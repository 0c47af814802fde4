// Preloaded (node --import) into the web and worker processes `npm start` runs. They run
// in process groups of their own (so a signal to `npm start`'s group reaches only the
// supervisor, which stops them in order); this ends them the usual way (SIGTERM: finish
// in-flight work) if the supervisor itself dies, e.g. kill -9, instead of leaving orphans.
if (process.channel) {
	// The IPC channel alone must not keep a process alive that is done.
	process.channel.unref();
	process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
