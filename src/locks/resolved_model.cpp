#include "locks/resolved_model.h"

#include <algorithm>

#include <fmt/format.h>

namespace lockhound::locks {

bool model_detects(const LockModel& model, debuginfo::TypeInfo& types, std::string* why_not) {
    for (const auto& c : model.detect) {
        auto m = types.member(c.struct_name, c.member);
        if (!m) {
            if (why_not) *why_not = fmt::format("no {}.{}", c.struct_name, c.member);
            return false;
        }
        if (c.kind && m->kind != *c.kind) {
            if (why_not)
                *why_not = fmt::format("{}.{} is a {}, not a {}",
                                       c.struct_name,
                                       c.member,
                                       to_string(m->kind),
                                       to_string(*c.kind));
            return false;
        }
        if (c.type && m->type_name != *c.type) {
            if (why_not)
                *why_not = fmt::format(
                    "{}.{} has type {}, not {}", c.struct_name, c.member, m->type_name, *c.type);
            return false;
        }
    }
    return true;
}

std::optional<ResolvedModel> resolve_model(const LockModel& model,
                                           debuginfo::TypeInfo& types,
                                           std::string* why_not) {
    ResolvedModel r;
    r.model = &model;
    auto need = [&](const std::string& st,
                    const std::string& path) -> std::optional<std::uint64_t> {
        auto m = types.member(st, path);
        if (!m && why_not) *why_not = fmt::format("no {}.{}", st, path);
        return m ? std::optional(m->offset) : std::nullopt;
    };
    r.lock_size = types.struct_size(model.struct_name).value_or(0);
    if (!model.owner.member.empty()) {
        r.owner_off = need(model.struct_name, model.owner.member);
        if (!r.owner_off && !model.owner.optional) return std::nullopt;
    }
    if (!model.count.member.empty()) {
        r.count_off = need(model.struct_name, model.count.member);
        if (!r.count_off) return std::nullopt;
    }
    auto list = need(model.struct_name, model.waiters.list);
    auto link = need(model.waiters.entry, model.waiters.link);
    auto task = need(model.waiters.entry, model.waiters.task);
    if (!list || !link || !task) return std::nullopt;
    r.list_off = *list, r.link_off = *link, r.task_off = *task;
    if (!model.waiters.mode_member.empty()) {
        auto m = types.member(model.waiters.entry, model.waiters.mode_member);
        if (!m) {
            if (why_not)
                *why_not = fmt::format("no {}.{}", model.waiters.entry, model.waiters.mode_member);
            return std::nullopt;
        }
        r.mode_off = m->offset;
        r.mode_size = m->size ? m->size : 4;
        for (const auto& [name, mode] : model.waiters.modes) {
            auto v = types.enumerator(name);
            if (!v) {
                if (why_not) *why_not = fmt::format("no enumerator {}", name);
                return std::nullopt;
            }
            r.mode_values[*v] = mode;
        }
    }
    if (model.waiters.layout == WaitListLayout::kRbtree) {
        r.rb_left_off = types.member("rb_node", "rb_left")
                            .transform([](auto m) { return m.offset; })
                            .value_or(16);
        r.rb_right_off = types.member("rb_node", "rb_right")
                             .transform([](auto m) { return m.offset; })
                             .value_or(8);
    }
    return r;
}

std::vector<ResolvedModel> resolve_models(const LockModelSet& set,
                                          debuginfo::TypeInfo& types,
                                          std::vector<std::string>* notes) {
    std::vector<const LockModel*> order;
    for (const auto& m : set.models) order.push_back(&m);
    std::ranges::stable_sort(order, [](auto* a, auto* b) { return a->priority > b->priority; });
    std::vector<ResolvedModel> out;
    for (const LockModel* m : order) {
        if (find_model(out, m->kind)) continue;
        std::string why;
        if (!model_detects(*m, types, &why)) continue;
        if (auto r = resolve_model(*m, types, &why)) {
            out.push_back(*r);
            if (notes) notes->push_back(fmt::format("{}: using {}", to_string(m->kind), m->id));
        } else if (notes) {
            notes->push_back(fmt::format("{} detects but does not resolve: {}", m->id, why));
        }
    }
    return out;
}

const ResolvedModel* find_model(const std::vector<ResolvedModel>& models, LockKind kind) {
    for (const auto& m : models)
        if (m.model->kind == kind) return &m;
    return nullptr;
}

}  // namespace lockhound::locks
