/* LD_PRELOAD shim for daemons without a listen-address option (slurmdbd 22.05):
 * bind() to 0.0.0.0 / :: becomes bind() to 127.0.0.1 / ::1. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in a;
		memcpy(&a, addr, sizeof(a));
		if (a.sin_addr.s_addr == htonl(INADDR_ANY)) {
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			return real(fd, (const struct sockaddr *)&a, sizeof(a));
		}
	} else if (addr && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 a;
		memcpy(&a, addr, sizeof(a));
		if (!memcmp(&a.sin6_addr, &in6addr_any, sizeof(a.sin6_addr))) {
			a.sin6_addr = in6addr_loopback;
			return real(fd, (const struct sockaddr *)&a, sizeof(a));
		}
	}
	return real(fd, addr, len);
}
