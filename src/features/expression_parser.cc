#include "features/expression_parser.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

#include "features/expression_lexer.h"

namespace kiln::features {
namespace {

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of expression";
    case TokenKind::kString:
      return "string " + token.source;
    default:
      return "'" + token.source + "'";
  }
}

// Recursive descent, lowest precedence first:
//   or < and < not < comparison (= != < … is in) < + - < * / % < unary - < primary
class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<SyntaxNode> ParseAll() {
    if (Peek().kind == TokenKind::kEnd) return InvalidArgument("expression is empty");
    KILN_ASSIGN_OR_RETURN(SyntaxNode node, ParseOr());
    if (Peek().kind != TokenKind::kEnd) {
      return ErrorAtColumn(Peek().column, "unexpected " + Describe(Peek()) + " after the expression");
    }
    return node;
  }

 private:
  // Counts nesting for kMaxExpressionDepth.
  class DepthGuard {
   public:
    explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
    ~DepthGuard() { --*depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    int* depth_;
  };

  const Token& Peek(size_t ahead = 0) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  const Token& Next() {
    const Token& token = tokens_[index_];
    if (index_ + 1 < tokens_.size()) ++index_;
    return token;
  }
  bool IsSymbol(const Token& token, std::string_view symbol) const {
    return token.kind == TokenKind::kSymbol && token.text == symbol;
  }
  bool IsKeyword(const Token& token, std::string_view word) const {
    return token.kind == TokenKind::kIdentifier && EqualsIgnoreCase(token.text, word);
  }
  bool IsComparison(const Token& token) const {
    if (token.kind != TokenKind::kSymbol) return false;
    const std::string& t = token.text;
    return t == "=" || t == "==" || t == "!=" || t == "<>" || t == "<" || t == "<=" || t == ">" || t == ">=";
  }
  Status Expect(bool matches, std::string_view what) {
    if (!matches) {
      return ErrorAtColumn(Peek().column, "expected " + std::string(what) + " but found " + Describe(Peek()));
    }
    Next();
    return Status::Ok();
  }

  static SyntaxNode Binary(const Token& op, SyntaxNode left, SyntaxNode right) {
    SyntaxNode node;
    node.kind = SyntaxNode::Kind::kBinary;
    node.position = op.column;
    node.text = op.text;
    node.children.push_back(std::move(left));
    node.children.push_back(std::move(right));
    return node;
  }

  Result<SyntaxNode> ParseOr() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxExpressionDepth) {
      return ErrorAtColumn(Peek().column, "expression nests too deeply (more than " +
                                              std::to_string(kMaxExpressionDepth) + " levels)");
    }
    KILN_ASSIGN_OR_RETURN(SyntaxNode left, ParseAnd());
    while (IsKeyword(Peek(), "or")) {
      const Token op = Next();
      KILN_ASSIGN_OR_RETURN(SyntaxNode right, ParseAnd());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }

  Result<SyntaxNode> ParseAnd() {
    KILN_ASSIGN_OR_RETURN(SyntaxNode left, ParseNot());
    while (IsKeyword(Peek(), "and")) {
      const Token op = Next();
      KILN_ASSIGN_OR_RETURN(SyntaxNode right, ParseNot());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }

  Result<SyntaxNode> ParseNot() {
    if (!IsKeyword(Peek(), "not")) return ParseComparison();
    DepthGuard guard(&depth_);
    if (depth_ > kMaxExpressionDepth) return ErrorAtColumn(Peek().column, "expression nests too deeply");
    const Token op = Next();
    KILN_ASSIGN_OR_RETURN(SyntaxNode operand, ParseNot());
    SyntaxNode node;
    node.kind = SyntaxNode::Kind::kUnary;
    node.position = op.column;
    node.text = "not";
    node.children.push_back(std::move(operand));
    return node;
  }

  Result<SyntaxNode> ParseComparison() {
    KILN_ASSIGN_OR_RETURN(SyntaxNode left, ParseAdditive());
    SyntaxNode node;
    if (IsComparison(Peek())) {
      const Token op = Next();
      KILN_ASSIGN_OR_RETURN(SyntaxNode right, ParseAdditive());
      node = Binary(op, std::move(left), std::move(right));
    } else if (IsKeyword(Peek(), "is")) {
      node.kind = SyntaxNode::Kind::kIsNull;
      node.position = Next().column;
      if (IsKeyword(Peek(), "not")) {
        node.negated = true;
        Next();
      }
      KILN_RETURN_IF_ERROR(Expect(IsKeyword(Peek(), "null"), node.negated
                                                                 ? "'null' after 'is not'"
                                                                 : "'null' or 'not null' after 'is'"));
      node.children.push_back(std::move(left));
    } else if (IsKeyword(Peek(), "in") || (IsKeyword(Peek(), "not") && IsKeyword(Peek(1), "in"))) {
      node.kind = SyntaxNode::Kind::kIn;
      node.position = Peek().column;
      if (IsKeyword(Next(), "not")) {
        node.negated = true;
        Next();
      }
      node.children.push_back(std::move(left));
      KILN_RETURN_IF_ERROR(Expect(IsSymbol(Peek(), "("), "'(' after 'in'"));
      if (IsSymbol(Peek(), ")")) return ErrorAtColumn(Peek().column, "'in' needs at least one item");
      while (true) {
        KILN_ASSIGN_OR_RETURN(SyntaxNode item, ParseOr());
        node.children.push_back(std::move(item));
        if (!IsSymbol(Peek(), ",")) break;
        Next();
      }
      KILN_RETURN_IF_ERROR(Expect(IsSymbol(Peek(), ")"), "',' or ')' in the 'in' list"));
    } else {
      return left;
    }
    if (IsComparison(Peek()) || IsKeyword(Peek(), "is") || IsKeyword(Peek(), "in")) {
      return ErrorAtColumn(Peek().column, "comparisons do not chain; join them with 'and' (a < b and b < c)");
    }
    return node;
  }

  Result<SyntaxNode> ParseAdditive() {
    KILN_ASSIGN_OR_RETURN(SyntaxNode left, ParseMultiplicative());
    while (IsSymbol(Peek(), "+") || IsSymbol(Peek(), "-")) {
      const Token op = Next();
      KILN_ASSIGN_OR_RETURN(SyntaxNode right, ParseMultiplicative());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }

  Result<SyntaxNode> ParseMultiplicative() {
    KILN_ASSIGN_OR_RETURN(SyntaxNode left, ParseUnary());
    while (IsSymbol(Peek(), "*") || IsSymbol(Peek(), "/") || IsSymbol(Peek(), "%")) {
      const Token op = Next();
      KILN_ASSIGN_OR_RETURN(SyntaxNode right, ParseUnary());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }

  Result<SyntaxNode> ParseUnary() {
    if (!IsSymbol(Peek(), "-")) return ParsePrimary();
    DepthGuard guard(&depth_);
    if (depth_ > kMaxExpressionDepth) return ErrorAtColumn(Peek().column, "expression nests too deeply");
    const Token op = Next();
    // A minus directly before a number is part of the literal, so that
    // -9223372036854775808 is an int64.
    if (Peek().kind == TokenKind::kInteger || Peek().kind == TokenKind::kFloat) {
      return NumberLiteral(Next(), /*negative=*/true, op.column);
    }
    KILN_ASSIGN_OR_RETURN(SyntaxNode operand, ParseUnary());
    SyntaxNode node;
    node.kind = SyntaxNode::Kind::kUnary;
    node.position = op.column;
    node.text = "-";
    node.children.push_back(std::move(operand));
    return node;
  }

  static Result<SyntaxNode> NumberLiteral(const Token& token, bool negative, int column) {
    SyntaxNode node;
    node.position = column;
    const char* begin = token.text.data();
    const char* end = begin + token.text.size();
    if (token.kind == TokenKind::kInteger) {
      uint64_t magnitude = 0;
      const auto result = std::from_chars(begin, end, magnitude);
      const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
      if (result.ec != std::errc() || magnitude > limit) {
        return ErrorAtColumn(column,
                             "integer " + std::string(negative ? "-" : "") + token.text +
                                 " is out of range for int64 (write it with a decimal point for a float64)");
      }
      node.literal =
          data::Value::Int(negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude));
      return node;
    }
    double value = 0;
    const auto result = std::from_chars(begin, end, value);
    if (result.ec != std::errc() || result.ptr != end) {
      return ErrorAtColumn(column, "number " + token.text + " is out of range for float64");
    }
    node.literal = data::Value::Float(negative ? -value : value);
    return node;
  }

  Result<SyntaxNode> ParsePrimary() {
    const Token& token = Peek();
    SyntaxNode node;
    node.position = token.column;
    switch (token.kind) {
      case TokenKind::kInteger:
      case TokenKind::kFloat:
        return NumberLiteral(Next(), /*negative=*/false, token.column);
      case TokenKind::kString:
        node.literal = data::Value::String(Next().text);
        return node;
      case TokenKind::kQuotedIdentifier:
        node.kind = SyntaxNode::Kind::kIdentifier;
        node.text = Next().text;
        return node;
      case TokenKind::kIdentifier:
        return ParseWord();
      case TokenKind::kSymbol:
        if (IsSymbol(token, "(")) {
          Next();
          KILN_ASSIGN_OR_RETURN(node, ParseOr());
          KILN_RETURN_IF_ERROR(Expect(IsSymbol(Peek(), ")"), "')'"));
          return node;
        }
        break;
      case TokenKind::kEnd:
        return ErrorAtColumn(token.column, "unexpected end of expression");
    }
    return ErrorAtColumn(token.column, "expected a value but found " + Describe(token));
  }

  Result<SyntaxNode> ParseWord() {
    const Token& token = Next();
    SyntaxNode node;
    node.position = token.column;
    if (EqualsIgnoreCase(token.text, "true") || EqualsIgnoreCase(token.text, "false")) {
      node.literal = data::Value::Bool(EqualsIgnoreCase(token.text, "true"));
      return node;
    }
    if (EqualsIgnoreCase(token.text, "null")) {
      node.null_literal = true;
      node.literal = data::Value::Null(data::Type::kFloat64);
      return node;
    }
    if (EqualsIgnoreCase(token.text, "case")) return ParseCase(token.column);
    if (EqualsIgnoreCase(token.text, "not")) {
      // `not` as an operand, as in a = not b: negates the comparison after it.
      DepthGuard guard(&depth_);
      if (depth_ > kMaxExpressionDepth) return ErrorAtColumn(token.column, "expression nests too deeply");
      KILN_ASSIGN_OR_RETURN(SyntaxNode operand, ParseNot());
      node.kind = SyntaxNode::Kind::kUnary;
      node.text = "not";
      node.children.push_back(std::move(operand));
      return node;
    }
    if (IsReserved(token.text)) {
      return ErrorAtColumn(token.column, "expected a value but found '" + token.source +
                                             "' (quote a column of that name as `" + token.text + "`)");
    }
    if (IsSymbol(Peek(), "(")) {
      node.kind = SyntaxNode::Kind::kCall;
      node.text = token.text;
      Next();
      if (IsSymbol(Peek(), ")")) {
        Next();
        return node;
      }
      while (true) {
        KILN_ASSIGN_OR_RETURN(SyntaxNode argument, ParseOr());
        node.children.push_back(std::move(argument));
        if (!IsSymbol(Peek(), ",")) break;
        Next();
      }
      KILN_RETURN_IF_ERROR(
          Expect(IsSymbol(Peek(), ")"), "',' or ')' after an argument of '" + token.text + "'"));
      return node;
    }
    node.kind = SyntaxNode::Kind::kIdentifier;
    node.text = token.text;
    return node;
  }

  // case when c1 then r1 [when c2 then r2 …] [else r] end
  Result<SyntaxNode> ParseCase(int column) {
    SyntaxNode node;
    node.kind = SyntaxNode::Kind::kCase;
    node.position = column;
    if (!IsKeyword(Peek(), "when")) {
      return ErrorAtColumn(Peek().column, "expected 'when' after 'case' but found " + Describe(Peek()) +
                                              " (write case when x = 1 then … end)");
    }
    while (IsKeyword(Peek(), "when")) {
      Next();
      KILN_ASSIGN_OR_RETURN(SyntaxNode condition, ParseOr());
      KILN_RETURN_IF_ERROR(Expect(IsKeyword(Peek(), "then"), "'then'"));
      KILN_ASSIGN_OR_RETURN(SyntaxNode result, ParseOr());
      node.children.push_back(std::move(condition));
      node.children.push_back(std::move(result));
    }
    if (IsKeyword(Peek(), "else")) {
      Next();
      KILN_ASSIGN_OR_RETURN(SyntaxNode otherwise, ParseOr());
      node.children.push_back(std::move(otherwise));
      node.has_else = true;
    }
    KILN_RETURN_IF_ERROR(Expect(IsKeyword(Peek(), "end"),
                                node.has_else ? "'end' after 'else'" : "'when', 'else' or 'end' in 'case'"));
    return node;
  }

  std::vector<Token> tokens_;
  size_t index_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<SyntaxNode> ParseExpression(std::string_view text) {
  KILN_ASSIGN_OR_RETURN(std::vector<Token> tokens, LexExpression(text));
  return Parser(std::move(tokens)).ParseAll();
}

}  // namespace kiln::features
