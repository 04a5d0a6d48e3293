#include "serving/model_cache.h"

#include <chrono>
#include <cstdio>

#include "tracking/model_registry.h"

namespace kiln::serving {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `text` without leading and trailing white space (a config file's list
// may carry tabs and newlines, not just spaces).
std::string Trim(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

Result<std::vector<ModelRef>> ParseModelRefs(std::string_view text) {
  std::vector<ModelRef> refs;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    const size_t length = comma == std::string_view::npos ? std::string_view::npos : comma - start;
    std::string item = Trim(text.substr(start, length));
    if (!item.empty()) {
      size_t at = item.rfind('@');
      if (at == std::string::npos) {
        return InvalidArgument("--models: '" + item + "' lacks an alias (write " + item + "@champion)");
      }
      ModelRef ref{Trim(std::string_view(item).substr(0, at)), Trim(std::string_view(item).substr(at + 1))};
      if (ref.name.empty() || ref.alias.empty()) {
        return InvalidArgument("--models: '" + item + "' should be NAME@ALIAS");
      }
      for (const ModelRef& seen : refs) {
        if (seen.name == ref.name && seen.alias == ref.alias) {
          return InvalidArgument("--models: " + ref.name + "@" + ref.alias + " is listed twice");
        }
      }
      refs.push_back(std::move(ref));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (refs.empty()) return InvalidArgument("--models: name at least one model, e.g. flight-delay@champion");
  return refs;
}

ModelCache::ModelCache(tracking::ModelRegistry& registry, storage::ArtifactStore& artifacts,
                       ModelCacheOptions options)
    : registry_(registry), artifacts_(artifacts), options_(options) {}

ModelCache::~ModelCache() { Stop(); }

Result<std::shared_ptr<const ServedModel>> ModelCache::LoadAlias(const ModelRef& ref, const ServedModel* current) {
  const std::string label = ref.name + "@" + ref.alias;
  Result<tracking::ModelVersion> version = registry_.GetModelVersionByAlias(ref.name, ref.alias);
  if (!version.ok()) return Status(version.status().code(), label + ": " + version.status().message());
  if (current != nullptr && current->version() == version->version) {
    return std::shared_ptr<const ServedModel>();  // unchanged
  }
  // Another alias may already hold this version: share it.
  if (std::shared_ptr<const ServedModel> shared = FindVersion(ref.name, version->version)) return shared;
  Result<std::shared_ptr<const ServedModel>> loaded = ServedModel::Load(
      artifacts_, ref.name, version->version, version->run_id.value_or(""), version->storage_location);
  if (!loaded.ok()) return Status(loaded.status().code(), label + ": " + loaded.status().message());
  return loaded;
}

Status ModelCache::Start(const std::vector<ModelRef>& refs) {
  for (const ModelRef& ref : refs) {
    auto slot = std::make_unique<Slot>();
    slot->ref = ref;
    slots_.push_back(std::move(slot));
  }
  for (auto& slot : slots_) {
    KILN_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model, LoadAlias(slot->ref, nullptr));
    slot->model.store(std::move(model));
    slot->loaded_at_micros.store(NowMicros());
  }
  watcher_ = std::thread([this] { Watch(); });
  return Status::Ok();
}

void ModelCache::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void ModelCache::OnTick(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  callbacks_.push_back(std::move(callback));
}

void ModelCache::CheckNow() {
  std::lock_guard check(check_mutex_);
  for (auto& slot : slots_) {
    std::shared_ptr<const ServedModel> current = slot->model.load();
    Result<std::shared_ptr<const ServedModel>> next = LoadAlias(slot->ref, current.get());
    if (!next.ok()) {
      reload_errors_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(mutex_);
      if (last_error_ != next.status().message()) {
        std::fprintf(stderr, "kiln serve: keeping %s v%lld: %s\n", (slot->ref.name + "@" + slot->ref.alias).c_str(),
                     static_cast<long long>(current ? current->version() : 0), next.status().message().c_str());
      }
      last_error_ = next.status().message();
      continue;
    }
    if (*next == nullptr) continue;  // unchanged
    std::fprintf(stderr, "kiln serve: %s@%s moved v%lld → v%lld (%s predictor)\n", slot->ref.name.c_str(),
                 slot->ref.alias.c_str(), static_cast<long long>(current ? current->version() : 0),
                 static_cast<long long>((*next)->version()), (*next)->predictor().c_str());
    slot->model.store(std::move(*next));
    slot->loaded_at_micros.store(NowMicros());
    reloads_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ModelCache::Watch() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, options_.reload_interval, [this] { return stop_; });
    if (stop_) break;
    std::vector<std::function<void()>> callbacks = callbacks_;
    lock.unlock();
    CheckNow();
    for (const auto& callback : callbacks) callback();
    lock.lock();
  }
}

std::shared_ptr<const ServedModel> ModelCache::Find(const std::string& name, const std::string& alias) const {
  for (const auto& slot : slots_) {
    if (slot->ref.name == name && (alias.empty() || slot->ref.alias == alias)) return slot->model.load();
  }
  return nullptr;
}

std::shared_ptr<const ServedModel> ModelCache::FindVersion(const std::string& name, int64_t version) const {
  for (const auto& slot : slots_) {
    if (slot->ref.name != name) continue;
    std::shared_ptr<const ServedModel> model = slot->model.load();
    if (model && model->version() == version) return model;
  }
  return nullptr;
}

std::string ModelCache::AliasOf(const std::string& name, int64_t version) const {
  for (const auto& slot : slots_) {
    if (slot->ref.name != name) continue;
    std::shared_ptr<const ServedModel> model = slot->model.load();
    if (model && model->version() == version) return slot->ref.alias;
  }
  return "";
}

std::vector<ServedAlias> ModelCache::List() const {
  std::vector<ServedAlias> list;
  for (const auto& slot : slots_) list.push_back({slot->ref, slot->model.load(), slot->loaded_at_micros.load()});
  return list;
}

std::string ModelCache::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

}  // namespace kiln::serving
