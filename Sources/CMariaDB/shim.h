#ifndef WHARF_CMARIADB_SHIM_H
#define WHARF_CMARIADB_SHIM_H

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#endif
