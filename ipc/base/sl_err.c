/*
 * sl_err.c — text for project error codes and errno values.
 */
#include "sl_base.h"

#include <errno.h>

const char *
sl_strerror(int err)
{
    if (err == 0)
        return "success";
    switch (err) {
#define SL_X_CASE(name, text)                                                  \
    case SL_E_##name:                                                          \
        return text;
        SL_ERRORS(SL_X_CASE)
#undef SL_X_CASE
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

const char *
sl_errname(int err)
{
    if (err == 0)
        return "OK";
    switch (err) {
#define SL_X_NAME(name, text)                                                  \
    case SL_E_##name:                                                          \
        return "SL_E_" #name;
        SL_ERRORS(SL_X_NAME)
#undef SL_X_NAME
    case -ENOENT:
        return "ENOENT";
    case -ENOMEM:
        return "ENOMEM";
    case -EIO:
        return "EIO";
    case -ENOSPC:
        return "ENOSPC";
    case -EINVAL:
        return "EINVAL";
    case -EEXIST:
        return "EEXIST";
    case -EACCES:
        return "EACCES";
    default:
        return "E?";
    }
}
