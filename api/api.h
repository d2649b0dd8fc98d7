// api/api.h — the TLS front, HTTP routes, request/response mapping and
// authentication (SPEC section 6). Read this first.
//
// Not built yet: the server arrives with its own issue. This library exists
// now so that the dependency direction (appliance -> api -> policies, crypto,
// storage) is fixed from the start; it exports nothing.
#pragma once
