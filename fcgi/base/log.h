/* log.h - one line per event on stderr: time, pid, level, message.
 * Client mistakes are info; faults of ours are error. */
#ifndef ORDERD_LOG_H
#define ORDERD_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_set_level(enum log_level);
void	log_msg(enum log_level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
