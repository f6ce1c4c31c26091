/* Preloaded into the test stack's Cyrus IMAP (scripts/mail-stack): what Cyrus sends to
 * syslog is appended to the file named by MAIL_STACK_SYSLOG_FILE instead, so that a
 * failing test can print it on a machine without a syslog daemon. Debian builds Cyrus
 * with _FORTIFY_SOURCE, so the __*_chk entry points are the ones it calls. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char ident[64] = "cyrus";

void openlog(const char *name, int option, int facility) {
    (void)option;
    (void)facility;
    if (name) {
        strncpy(ident, name, sizeof ident - 1);
        ident[sizeof ident - 1] = '\0';
    }
}

void closelog(void) {}

void vsyslog(int priority, const char *format, va_list ap) {
    const char *path = getenv("MAIL_STACK_SYSLOG_FILE");
    FILE *f;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    if ((priority & 7) == 7 || !path || !(f = fopen(path, "a"))) {
        return;
    }
    strftime(when, sizeof when, "%H:%M:%S", localtime_r(&now, &tm));
    fprintf(f, "%s %s[%d] <%d>: ", when, ident, (int)getpid(), priority & 7);
    vfprintf(f, format, ap);
    fputc('\n', f);
    fclose(f);
}

void syslog(int priority, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vsyslog(priority, format, ap);
    va_end(ap);
}

void __vsyslog_chk(int priority, int flag, const char *format, va_list ap) {
    (void)flag;
    vsyslog(priority, format, ap);
}

void __syslog_chk(int priority, int flag, const char *format, ...) {
    va_list ap;
    (void)flag;
    va_start(ap, format);
    vsyslog(priority, format, ap);
    va_end(ap);
}
