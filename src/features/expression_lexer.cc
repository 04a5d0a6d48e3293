#include "features/expression_lexer.h"

#include <utility>

namespace kiln::features {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentifierStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentifierChar(char c) { return IsIdentifierStart(c) || IsDigit(c); }

constexpr std::string_view kReservedWords[] = {"and",  "or",   "not",  "is",  "null", "in",   "case",
                                               "when", "then", "else", "end", "true", "false"};

// Splits text into tokens. Columns count UTF-8 code points from 1.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
      Token token;
      token.column = Column(pos_);
      if (pos_ >= text_.size()) {
        tokens.push_back(std::move(token));
        return tokens;
      }
      const size_t start = pos_;
      const char c = text_[pos_];
      if (IsDigit(c) || (c == '.' && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1]))) {
        KILN_RETURN_IF_ERROR(LexNumber(&token));
      } else if (IsIdentifierStart(c)) {
        LexIdentifier(&token);
      } else if (c == '`') {
        KILN_RETURN_IF_ERROR(LexQuotedIdentifier(&token));
      } else if (c == '\'' || c == '"') {
        KILN_RETURN_IF_ERROR(LexString(&token));
      } else {
        KILN_RETURN_IF_ERROR(LexSymbol(&token));
      }
      token.source = std::string(text_.substr(start, pos_ - start));
      tokens.push_back(std::move(token));
    }
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  int Column(size_t offset) const {
    int column = 1;
    for (size_t i = 0; i < offset && i < text_.size(); ++i) {
      column += (static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80;
    }
    return column;
  }

  Status LexNumber(Token* token) {
    const size_t start = pos_;
    bool is_float = false;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      is_float = true;
      ++pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t next = pos_ + 1;
      if (next < text_.size() && (text_[next] == '+' || text_[next] == '-')) ++next;
      if (next < text_.size() && IsDigit(text_[next])) {
        is_float = true;
        pos_ = next;
        while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
      }
    }
    if (pos_ < text_.size() && (IsIdentifierChar(text_[pos_]) || text_[pos_] == '.')) {
      while (pos_ < text_.size() && (IsIdentifierChar(text_[pos_]) || text_[pos_] == '.')) ++pos_;
      return ErrorAtColumn(token->column,
                           "malformed number '" + std::string(text_.substr(start, pos_ - start)) + "'");
    }
    token->kind = is_float ? TokenKind::kFloat : TokenKind::kInteger;
    token->text = std::string(text_.substr(start, pos_ - start));
    return Status::Ok();
  }

  // `view.feature` is one name: dots join parts that start with a letter,
  // digit or underscore.
  void LexIdentifier(Token* token) {
    const size_t start = pos_;
    while (pos_ < text_.size()) {
      if (IsIdentifierChar(text_[pos_])) {
        ++pos_;
      } else if (text_[pos_] == '.' && pos_ + 1 < text_.size() && IsIdentifierChar(text_[pos_ + 1])) {
        ++pos_;
      } else {
        break;
      }
    }
    token->kind = TokenKind::kIdentifier;
    token->text = std::string(text_.substr(start, pos_ - start));
  }

  // `any name`, with `` for a backquote inside.
  Status LexQuotedIdentifier(Token* token) {
    ++pos_;
    std::string name;
    while (true) {
      if (pos_ >= text_.size())
        return ErrorAtColumn(token->column, "unterminated `name` (missing closing `)");
      if (text_[pos_] == '`') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '`') {
          name += '`';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      name += text_[pos_++];
    }
    if (name.empty()) return ErrorAtColumn(token->column, "empty name ``");
    token->kind = TokenKind::kQuotedIdentifier;
    token->text = std::move(name);
    return Status::Ok();
  }

  Status LexString(Token* token) {
    const char quote = text_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) {
        return ErrorAtColumn(token->column,
                             std::string("unterminated string (missing closing ") + quote + ")");
      }
      const char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        value += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= text_.size()) {
        return ErrorAtColumn(token->column,
                             std::string("unterminated string (missing closing ") + quote + ")");
      }
      const char escaped = text_[pos_ + 1];
      switch (escaped) {
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case '0':
          value += '\0';
          break;
        default:
          return ErrorAtColumn(Column(pos_), std::string("unknown escape '\\") + escaped +
                                                 "' in string (use \\\\, \\', \\\", \\n, \\t, \\r or \\0)");
      }
      pos_ += 2;
    }
    token->kind = TokenKind::kString;
    token->text = std::move(value);
    return Status::Ok();
  }

  Status LexSymbol(Token* token) {
    static constexpr std::string_view kTwoChar[] = {"<=", ">=", "<>", "!=", "=="};
    for (std::string_view symbol : kTwoChar) {
      if (text_.substr(pos_, 2) == symbol) {
        token->kind = TokenKind::kSymbol;
        token->text = std::string(symbol);
        pos_ += 2;
        return Status::Ok();
      }
    }
    const char c = text_[pos_];
    if (std::string_view("+-*/%()<>=,").find(c) != std::string_view::npos) {
      token->kind = TokenKind::kSymbol;
      token->text = std::string(1, c);
      ++pos_;
      return Status::Ok();
    }
    if (c == '!') return ErrorAtColumn(token->column, "unexpected character '!' (use '!=' or 'not')");
    if (static_cast<unsigned char>(c) < 0x20) {
      return ErrorAtColumn(token->column,
                           "unexpected control character " + std::to_string(static_cast<int>(c)));
    }
    return ErrorAtColumn(token->column, std::string("unexpected character '") + c + "'");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Status ErrorAtColumn(int column, std::string message) {
  return InvalidArgument("at column " + std::to_string(column) + ": " + std::move(message));
}

Result<std::vector<Token>> LexExpression(std::string_view text) { return Lexer(text).Run(); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

bool IsReserved(std::string_view word) {
  for (std::string_view reserved : kReservedWords) {
    if (EqualsIgnoreCase(word, reserved)) return true;
  }
  return false;
}

}  // namespace kiln::features
