// audit/query.h — placeholder (filled in by the audit query work).
#pragma once
