'use strict';
// The project's User model, defined on whatever Sequelize instance it is given.
module.exports = (sequelize, DataTypes) =>
  sequelize.define('User', {
    email: { type: DataTypes.STRING, allowNull: false, unique: true },
    name: DataTypes.STRING,
    role: { type: DataTypes.STRING(20), allowNull: false, defaultValue: 'member' },
  }, { tableName: 'users' });
