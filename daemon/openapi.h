// daemon/openapi.h — the OpenAPI 3.1 document of the API, compiled in from docs/openapi.json.
#pragma once

#include <string>

namespace certd {
const std::string& openapi_json();
}
