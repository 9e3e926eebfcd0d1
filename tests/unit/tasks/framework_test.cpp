// Framework: a Client and a TaskManager wired in one object, against a scripted master.
#include "heatblast/framework.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "fakes/fake_master.hpp"
#include "fakes/run_until.hpp"

using namespace std::chrono_literals;
using heatblast::errc;
using heatblast::testing::FakeMaster;
using heatblast::testing::run_until;
using namespace heatblast::tasks;
namespace hs = heatblast::scheduler;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

TEST_CASE("framework: the manager sees events first, then the program, start() once", "[tasks]") {
  boost::asio::io_context io;
  FakeMaster master(io.get_executor());
  REQUIRE(master.start().has_value());
  hs::Options options;
  options.masters = {master.address()};
  options.framework.set_user("u");
  options.framework.set_name("framework-test");
  std::vector<std::string> seen;
  std::vector<std::string> changes;
  std::optional<Framework> framework;
  hs::Handlers handlers;
  handlers.on_event = [&](const Event& e) {
    // The manager already handled it: an UPDATE's phase is visible here.
    if (e.type() == Event::UPDATE) {
      seen.push_back(std::string(to_string(framework->tasks().find("job")->phase)));
    }
  };
  ManagerOptions manager_options;
  manager_options.min_revive_interval = 10ms;
  framework.emplace(io.get_executor(), options, manager_options, handlers,
                    [&](const TaskChange& c) { changes.emplace_back(to_string(c.record.phase)); });

  TaskSpec spec;
  spec.name = "job";
  spec.command.set_value("true");
  spec.resources.scalars = {{"cpus", 0.1}};
  REQUIRE(framework->tasks().add(spec).has_value());
  REQUIRE(framework->start().has_value());
  CHECK(framework->start().error().code == errc::invalid_argument);
  // Too late to load a store: the client runs.
  CHECK(framework->tasks().load().error().code == errc::invalid_argument);
  REQUIRE(run_until(io, [&] { return framework->client().state() == hs::State::subscribed; }));

  Event offers;
  offers.set_type(Event::OFFERS);
  auto* offer = offers.mutable_offers()->add_offers();
  offer->mutable_id()->set_value("o1");
  offer->mutable_framework_id()->set_value("fw-1");
  offer->mutable_agent_id()->set_value("a1");
  offer->set_hostname("h1");
  auto* cpus = offer->add_resources();
  cpus->set_name("cpus");
  cpus->set_type(mesos::v1::Value::SCALAR);
  cpus->mutable_scalar()->set_value(1);
  master.send(offers);
  REQUIRE(run_until(io, [&] { return !master.calls_of_type(Call::ACCEPT).empty(); }));
  const auto task_id = master.calls_of_type(Call::ACCEPT)[0]
                           .accept()
                           .operations(0)
                           .launch()
                           .task_infos(0)
                           .task_id()
                           .value();
  Event update;
  update.set_type(Event::UPDATE);
  auto* status = update.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value(task_id);
  status->mutable_agent_id()->set_value("a1");
  status->set_state(mesos::v1::TASK_FINISHED);
  status->set_uuid("u1");
  master.send(update);
  REQUIRE(run_until(io, [&] { return framework->tasks().all_done(); }));
  CHECK(seen == std::vector<std::string>{"done"});
  CHECK(changes.back() == "done");
  REQUIRE(run_until(io, [&] { return master.calls_of_type(Call::ACKNOWLEDGE).size() == 1; }));
  framework.reset();  // stops the client; nothing runs afterwards
  heatblast::testing::run_ready(io);
}
