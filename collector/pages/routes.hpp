#pragma once
// Wires the pages into the collector's server (I/O): the measurement permalink's page for browsers.
#include "collector/log/checkpointer.hpp"
#include "collector/server.hpp"
#include "collector/store/store.hpp"

namespace kuzet::collector::pages {

// For Server::set_measurement_page: answers a browser (Accept: text/html) with measurement_page in the
// language of ?lang= or Accept-Language (a bad lang= is a 400); returns false for everyone else. Both
// arguments must outlive the server.
Server::MeasurementPage measurement_page_handler(Store& store, log::Checkpointer& checkpointer);

}  // namespace kuzet::collector::pages
