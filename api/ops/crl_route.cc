// GET /pki/ca.crl: the client CA's current CRL, DER-encoded
// (application/pkix-crl, RFC 5280 4.2.1.13 and RFC 2585), so the CRL
// distribution point the development PKI names in its certificates
// (scripts/dev-pki.sh) answers. No authentication and no audit record, as
// /openapi.yaml: a CRL is public, signed by the CA, and a relying party
// fetches it before it trusts anyone.
// It serves the CRL the TLS front checks client certificates against (the
// configured `[tls] crl`, as loaded at start or by the last SIGHUP), never
// a file read per request; 404 when no CRL is configured.
#include "api/core/api_context.h"
#include "api/ops/ops_routes.h"

namespace strongroom::api {

void AddCrlRoute(Router& router, const TlsContext& tls) {
  const TlsContext* context = &tls;
  router.Add(Pistache::Http::Method::Get, "/pki/ca.crl", Execution::kInline,
             [context](HttpRequest& request) {
               std::shared_ptr<const std::string> der = context->CurrentCrlDer();
               if (der == nullptr) {
                 return ErrorToResponse(request.path, request.request_id,
                                        ApiError::NotFound("no CRL is configured ([tls] crl)"));
               }
               HttpResponse response;
               response.content_type = "application/pkix-crl";
               response.body = *der;
               return response;
             });
}

}  // namespace strongroom::api
