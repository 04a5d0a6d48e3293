#pragma once
// The storage module's public contract: the SQL metadata store and the
// content-addressed artifact store.
#include "storage/artifact_store.h"
#include "storage/database.h"
#include "storage/migration.h"
#include "storage/sql_value.h"
