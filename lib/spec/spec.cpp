// PLACEHOLDER until the spec parser lands (issue 2).
#include "spec/spec.hpp"
namespace kuzet::spec {
Spec load_spec_file(const std::string& path) { throw SpecError(path + ": spec parser not implemented yet"); }
Spec parse_spec(const std::string&, const std::string& source) { throw SpecError(source + ": spec parser not implemented yet"); }
Spec merge_specs(const std::vector<Spec>& specs) { Spec s; for (auto& x : specs) s.targets.insert(s.targets.end(), x.targets.begin(), x.targets.end()); return s; }
}  // namespace kuzet::spec
