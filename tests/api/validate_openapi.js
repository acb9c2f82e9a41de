// Validates an OpenAPI document against the OpenAPI 3 specification and resolves every $ref, with
// @apidevtools/swagger-parser (tests/browser/package.json). usage: node validate_openapi.js FILE
// Exit 0 and "valid: <title> <version>" when valid; exit 1 with the validator's message otherwise.
const SwaggerParser = require("@apidevtools/swagger-parser");

SwaggerParser.validate(process.argv[2])
  .then((api) => {
    console.log("valid: " + api.info.title + " " + api.info.version + ", " + Object.keys(api.paths).length + " paths");
  })
  .catch((err) => {
    console.error("invalid OpenAPI document: " + err.message);
    process.exit(1);
  });
