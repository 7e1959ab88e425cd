/* Processes of a chaos run: `csb` commands with captured output and a deadline, and the
 * nodes they leave running in the background. This process is their reaper
 * (PR_SET_CHILD_SUBREAPER): a killed node is reaped at once, so `csb cluster kill` does not
 * wait for an init that reaps slowly, and a node that ends by itself (any end but our
 * SIGKILL while watching) is counted. One thread reaps everything; a command's caller
 * waits for its status through the table below. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chaos/chaos.h"
#include "common/clock.h"

#define WAITED_MAX 64
#define ENV_MAX 256

extern char **environ;

struct waited {
	pid_t pid;      /* 0: free slot */
	bool done;
	int status;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct waited table[WAITED_MAX];
static atomic_bool watching;
static atomic_uint unexpected;

static void *reaper_main(void *arg)
{
	(void)arg;
	for (;;) {
		int st = 0;
		pid_t pid = waitpid(-1, &st, 0);
		bool mine = false;

		if (pid < 0) {
			if (errno == ECHILD)
				csb_sleep_ms(20);
			continue;
		}
		pthread_mutex_lock(&mu);
		for (int i = 0; i < WAITED_MAX; i++)
			if (table[i].pid == pid) {
				table[i].done = true;
				table[i].status = st;
				mine = true;
			}
		if (mine)
			pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		if (!mine && atomic_load(&watching) && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
			atomic_fetch_add(&unexpected, 1);
			fprintf(stderr, "chaos: a node (pid %ld) ended by itself: %s %d\n", (long)pid,
			        WIFSIGNALED(st) ? "signal" : "exit code",
			        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
	}
	return NULL;
}

void chaos_proc_init(void)
{
	pthread_t t;

	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&t, NULL, reaper_main, NULL) == 0)
		pthread_detach(t);
}

void chaos_proc_watch(bool on)
{
	atomic_store(&watching, on);
}

unsigned chaos_proc_unexpected_exits(void)
{
	return atomic_load(&unexpected);
}

static size_t env_build(char *const extra[], char *out[ENV_MAX])
{
	size_t n = 0;

	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < ENV_MAX - 1; i++)
		out[n++] = extra[i];
	for (size_t i = 0; environ[i] != NULL && n < ENV_MAX - 1; i++) {
		const char *eq = strchr(environ[i], '=');
		bool overridden = false;

		for (size_t j = 0; eq != NULL && extra != NULL && extra[j] != NULL; j++)
			if (strncmp(extra[j], environ[i], (size_t)(eq - environ[i]) + 1) == 0)
				overridden = true;
		if (!overridden)
			out[n++] = environ[i];
	}
	out[n] = NULL;
	return n;
}

/* Starts argv with its output into fd; the slot is registered before the reaper can see
 * the child end. Returns the slot, or -1. */
static int spawn(char *const argv[], char *const env[], int fd)
{
	posix_spawn_file_actions_t fa;
	char *envp[ENV_MAX];
	pid_t pid = 0;
	int slot = -1, rc;

	env_build(env, envp);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
	}
	pthread_mutex_lock(&mu);
	for (int i = 0; i < WAITED_MAX && slot < 0; i++)
		if (table[i].pid == 0)
			slot = i;
	if (slot >= 0) {
		rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
		if (rc == 0)
			table[slot] = (struct waited){.pid = pid};
		else
			slot = -1;
	}
	pthread_mutex_unlock(&mu);
	posix_spawn_file_actions_destroy(&fa);
	return slot;
}

static int wait_slot(int slot, uint32_t timeout_ms)
{
	uint64_t until = csb_mono_ms() + timeout_ms;
	bool killed = false;
	int status;

	pthread_mutex_lock(&mu);
	while (!table[slot].done) {
		struct timespec ts;

		if (!killed && csb_mono_ms() >= until) {
			kill(table[slot].pid, SIGKILL);
			killed = true;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cv, &mu, &ts);
	}
	status = table[slot].status;
	table[slot].pid = 0;
	pthread_mutex_unlock(&mu);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int chaos_proc_run(char *const argv[], char *const env[], char *out, size_t outlen,
                   uint32_t timeout_ms)
{
	int fd = memfd_create("chaos-out", MFD_CLOEXEC), slot, code;
	ssize_t n = 0;

	if (fd < 0)
		return -1;
	/* The child needs it without CLOEXEC: dup2 in the file actions clears the flag. */
	if ((slot = spawn(argv, env, fd)) < 0) {
		close(fd);
		return -1;
	}
	code = wait_slot(slot, timeout_ms);
	if (out != NULL && outlen > 0) {
		lseek(fd, 0, SEEK_SET);
		n = read(fd, out, outlen - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return code;
}
