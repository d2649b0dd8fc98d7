// `strongroom audit verify|show` (placeholder; filled in by the audit CLI work).
namespace strongroom::appliance {}
