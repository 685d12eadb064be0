'use strict';
// Column sets every table of the project shares.
module.exports = {
  id: (Sequelize) => ({ type: Sequelize.INTEGER, primaryKey: true, autoIncrement: true, allowNull: false }),
  timestamps: (Sequelize) => ({
    createdAt: { type: Sequelize.DATE, allowNull: false },
    updatedAt: { type: Sequelize.DATE, allowNull: false },
  }),
};
