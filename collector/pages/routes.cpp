#include "collector/pages/routes.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "collector/pages/pages.hpp"

namespace kuzet::collector::pages {

Server::MeasurementPage measurement_page_handler(Store& store, log::Checkpointer& checkpointer) {
  return [&store, &checkpointer](const httplib::Request& req, const std::string& uid, const std::string& envelope,
                                 httplib::Response& res) {
    if (!wants_html(req.get_header_value("Accept"))) return false;
    const std::string lang_param = req.get_param_value("lang");
    auto lang = pick_language(req.has_param("lang") ? &lang_param : nullptr, req.get_header_value("Accept-Language"));
    if (!lang) {
      res.status = 400;
      res.set_content(nlohmann::json{{"error", "malformed"}, {"detail", "lang must be en, ru or kk"}}.dump(),
                      "application/json");
      return true;
    }
    const auto facts = measurement_facts(store, uid, envelope, checkpointer.latest().checkpoint.size);
    res.set_content(measurement_page(facts, *lang), "text/html; charset=utf-8");
    return true;
  };
}

}  // namespace kuzet::collector::pages
