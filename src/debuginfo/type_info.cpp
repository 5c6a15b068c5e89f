#include "debuginfo/type_info.h"

namespace lockhound::debuginfo {

const char* to_string(TypeKind kind) {
    switch (kind) {
        case TypeKind::kInteger:
            return "integer";
        case TypeKind::kBool:
            return "bool";
        case TypeKind::kEnum:
            return "enum";
        case TypeKind::kPointer:
            return "pointer";
        case TypeKind::kStruct:
            return "struct";
        case TypeKind::kUnion:
            return "union";
        case TypeKind::kArray:
            return "array";
        case TypeKind::kFunction:
            return "function";
        case TypeKind::kOther:
            return "other";
    }
    return "other";
}

}  // namespace lockhound::debuginfo
